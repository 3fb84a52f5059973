"""Worker handles: counts and metrics from other processes into one bar.

Four rooms: ``handle`` is the worker's side (``Handle``, its client and sender
thread), ``listener`` the parent's (the socket, its select loop, the exact merge),
``wire`` what both speak (the challenge and the framing), ``signals`` what SIGTERM
does (each side registers its work there).  ``progbar.transport`` is the public
extension point built on them (design.md, "Workers").
"""
