"""Seized-device exports: folders, archives, e-mail and chat exports, read in memory."""
