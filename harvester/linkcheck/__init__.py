"""The link checker: are the landing pages and access URLs of records declared open reachable?"""
