"""Analytics: post metrics from the platforms, and the brand learning computed from them."""
