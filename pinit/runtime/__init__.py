"""pinit.runtime"""
