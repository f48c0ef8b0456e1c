"""pinit.config"""
