"""Store errors whose message is shown to the user as is."""


class StoreError(RuntimeError):
    pass


class NewerSchemaError(StoreError):
    """The database was written by a newer version of the application."""
