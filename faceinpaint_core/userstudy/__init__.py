"""The perceptual user study of source 000 (sections 08-09) as software: a trial list built from a frozen
evaluation set (:mod:`.design`), a small validated web server backed by SQLite (:mod:`.server`, :mod:`.store`),
CSV export, and the analysis (:mod:`.analysis`: support rates with Wilson intervals, per-feature scores,
Bradley-Terry ranking, agreement, power) including simulated observers that are labelled as such and never
written into a study database.
"""
