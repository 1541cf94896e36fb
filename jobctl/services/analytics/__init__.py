"""Analytics: post metrics collected from the platforms into PostAnalytics (`sync`), the account
state changes a sync makes (`accounts`), and the brand-learning hook each sync calls (`hooks`)."""
