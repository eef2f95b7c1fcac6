"""The people behind Xiaobao at work: the hand-off desk of the online helpers, and the editors' knowledge-gap
loop and Q&A editing workflow. Their accounts and audit log are in identity/."""
