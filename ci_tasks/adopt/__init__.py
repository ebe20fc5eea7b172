"""Adoption: ``ci-tasks init``, the generated workflows, the pre-push hook and the invoke tasks."""
