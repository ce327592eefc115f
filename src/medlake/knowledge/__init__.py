"""The medical knowledge graph, health-information articles, search with expansion, recommendations."""
