"""The people behind Xiaobao: helper and editor accounts, the hand-off desk, the knowledge-gap loop
and the Q&A editing workflow, and the audit log of everything they do."""
