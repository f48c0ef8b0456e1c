"""pinit.logs"""
