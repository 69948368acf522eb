"""Process design kits: one module per PDK (layers, rules, devices, model files, decks).

SKY130 comes first (issue 3), GF180MCU next; the spec already accepts both names.
"""
