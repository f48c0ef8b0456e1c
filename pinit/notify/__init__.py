"""pinit.notify"""
