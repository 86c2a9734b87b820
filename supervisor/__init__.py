"""The domain: models, standard profiles, health rules, acceptance, tickets, web pages, auth."""
