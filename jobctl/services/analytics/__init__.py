"""Analytics: post metrics collected from the platforms into PostAnalytics (`sync`), the account
state changes a sync makes (`accounts`), the brand learning computed from them (`learning`,
`recompute`) and the call site each sync uses (`hooks`)."""
