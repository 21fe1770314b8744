"""What every platform adapter shares: bindings, the delivery pump and the carrier contract.

A platform adapter is three things on top of this package: a *carrier* (the few calls
that carry an effect out on the platform), an inbound translator (platform events to core
events, submitted to :class:`core.runtime.Runtime`), and its startup.
"""
