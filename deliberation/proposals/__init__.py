"""The officials' queue: adopted items, public responses and the implementation timeline."""
