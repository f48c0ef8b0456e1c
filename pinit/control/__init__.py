"""pinit.control"""
