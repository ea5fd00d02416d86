"""``faceinpaint app``: a local web app over every registered method (see :mod:`.server`)."""
