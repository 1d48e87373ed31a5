"""The verification suite's machinery: modes, fixtures, the workshop as the checks see it."""
