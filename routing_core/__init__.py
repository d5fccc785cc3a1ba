"""The domain and the engine of smart-routing: no web framework or provider SDK here."""
