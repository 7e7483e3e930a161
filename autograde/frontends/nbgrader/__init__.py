"""frontends/nbgrader"""
