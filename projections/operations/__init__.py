"""Read models of the log itself, for auditors and operators (beside the contexts, like ``shared``)."""
