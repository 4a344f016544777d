"""The objection service (DESIGN.md, "Objection intake"): a small Starlette app with
server-rendered pages. Users object or withdraw from a signed notification link; non-users
object under the identifiers of rule 8, confirmed by a code mailed to them. Every submission
lands once as a landing-zone objection file, which the landing sensor imports into the ledger.
"""
