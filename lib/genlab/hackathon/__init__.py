"""13_hackathon's machinery: what a team's kernel gets (``team``), the guard that keeps it from the
hidden data (``guard``), hard limits per submission (``limits``), grading each team with nbgrader
(``autograde``), the hidden scorer (``score``), scores in the gradebook (``gradebook``) and the
leaderboard (``leaderboard``). ``python -m genlab.hackathon grade|leaderboard``.
"""
