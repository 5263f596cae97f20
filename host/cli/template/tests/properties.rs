//! Properties of the {{name}} policy over generated withdrawals, run
//! natively through riskgate-testkit's mock host.
