"""Firestore security rules (``rules_version = '2'``) evaluated by the local Firestore.

``Rules.load(path)`` parses a rules file (a syntax error names its line and column);
``Guard`` applies it to the RPCs of every caller but the owner. Modules: ``lexer`` and
``parser``/``expressions`` (syntax), ``ast``, ``runtime`` (values), ``evaluator`` with
``operators``, ``methods`` and ``builtins``, ``matcher`` (match blocks and wildcards),
``context`` (identity, ``request``), ``queries`` (the list check) and ``engine``.
"""

from localcloud.firestore.rules.engine import Decision, Rules
from localcloud.firestore.rules.errors import RulesSyntaxError

__all__ = ["Decision", "Rules", "RulesSyntaxError"]
