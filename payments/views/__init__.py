"""The payments app's pages, by topic: the patron's (`patron`), providers' webhooks
(`webhooks`) and the simulated provider's hosted page (`simulated`)."""
