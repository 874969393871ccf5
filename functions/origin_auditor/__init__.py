"""origin-auditor: find CloudFront custom origins whose TLS setup CloudFront will reject."""

__version__ = "0.1.0"
