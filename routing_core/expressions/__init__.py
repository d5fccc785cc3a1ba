"""The expression language of a routing: values and their coercions, sandboxed templates,
structured conditions, JSONPath and moments in time. Pure functions, no I/O."""
