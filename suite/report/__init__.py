"""The instructor report: phases and verdict (`phases`), each check's evidence (`evidence`),
the run's facts (`runfacts`), the HTML page (`plugin`, `html`, `report.css`) and its check in
headless Chromium (`browser`)."""
