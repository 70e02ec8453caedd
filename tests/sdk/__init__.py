"""Real third-party SDKs against `callcard serve` on loopback (marker ``sdk``)."""
