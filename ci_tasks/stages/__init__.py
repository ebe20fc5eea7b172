"""One folder per CI stage.

Each stage imports the shared layer (:mod:`ci_tasks.core`), never another stage.
"""
