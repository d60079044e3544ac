"""The online half of ragqa: the HTTP service that retrieves, generates and cites."""
