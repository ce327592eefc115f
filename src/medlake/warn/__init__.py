"""Early warning: clinical scores over whole columns (``warn.scores``).

The scores are pure functions of a resident's inputs, so the same code serves the command line
(``medlake score``), the batch risk mart and the bedside stream that later parts build on it.
"""
