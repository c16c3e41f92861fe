"""Views of the kaizen app: definitions, the kaizen board and cycles."""
