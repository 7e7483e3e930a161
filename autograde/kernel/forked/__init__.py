"""kernel/forked"""
