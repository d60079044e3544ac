"""From a question to a grounded answer: evidence, prompt, abstention, answer spans and citations."""
