"""The event knowledge graph: builds events, entities and relations from evidence and
traverses them with networkx. Depends only on ``vidkg``; never on the layers above."""
