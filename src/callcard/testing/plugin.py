"""callcard's pytest plugin (entry point ``pytest11``): fixtures for testing telephony apps."""
