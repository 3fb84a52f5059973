"""What the tests share and are not tests: pty screens, worker functions for pools,
recording bars, the reliability bookkeeping and its report plugin."""
