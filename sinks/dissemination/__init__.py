"""Record-level releases from the warehouse: the national data opt-out as extracts apply it, approved
extracts (``dids extract``), the linkage feed (``dids linkage``) and the audit of every run."""
