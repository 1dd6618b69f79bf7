/* reserved for the passkey ceremony; the portal works without script */
