"""Typed records of the domain (pydantic), shared by the store, the engine and the API."""
