"""Material pre-review: read uploaded materials (text, PDF, DOCX, scans via OCR) and check an item's
review points before a case officer sees them."""
