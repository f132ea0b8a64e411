"""Intro calls: requests with proposed times, answers, messages and what both decide after."""
