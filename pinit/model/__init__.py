"""pinit.model"""
