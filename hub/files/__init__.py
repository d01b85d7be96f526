"""Files a provider keeps and the hub fetches for an agent: where they may be fetched from
(`sources`, pure) and the client that passes them through (`fetch`)."""
