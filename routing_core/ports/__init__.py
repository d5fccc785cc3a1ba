"""The interfaces through which the core reaches the outside world.

``world`` holds what actions call (web services, mail, SMS, reference data); ``channels``
holds what a channel connector implements to send, and the closed set of its send errors.
Connectors, the admin app and the service implement them; the core only declares them.
"""
