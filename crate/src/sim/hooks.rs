//! Contact-modification hooks of the world: moving surfaces (a conveyor belt) and object
//! drives give the contacts between an object and a fixed support a tangent velocity, so
//! the support's friction carries the object (motion by physics, never teleporting).

use rapier3d::prelude::*;

/// Contact-modification hook: moving surfaces (belts) and object drives.
#[derive(Default)]
pub(super) struct SurfaceHooks {
    /// Belt colliders and their surface velocity.
    pub(super) belts: Vec<(ColliderHandle, Vector)>,
    /// Driven object bodies and their commanded velocity.
    pub(super) drives: Vec<(RigidBodyHandle, Vector)>,
}

impl SurfaceHooks {
    fn drive_of(&self, body: Option<RigidBodyHandle>) -> Option<Vector> {
        let b = body?;
        self.drives.iter().find(|(h, _)| *h == b).map(|(_, v)| *v)
    }
    fn belt_of(&self, c: ColliderHandle) -> Option<Vector> {
        self.belts.iter().find(|(h, _)| *h == c).map(|(_, v)| *v)
    }
}

impl PhysicsHooks for SurfaceHooks {
    fn modify_solver_contacts(&self, ctx: &mut ContactModificationContext) {
        let dynamic = |b: Option<RigidBodyHandle>| {
            b.and_then(|h| ctx.bodies.get(h))
                .is_some_and(|rb| rb.is_dynamic())
        };
        // rapier's solver drives the relative tangent velocity of body 2 with
        // respect to body 1 toward `tangent_velocity` (measured here: a positive
        // value moves body 2 along it).
        let rel = if let (Some(v), false) =
            (self.drive_of(ctx.rigid_body2), dynamic(ctx.rigid_body1))
        {
            v
        } else if let (Some(v), false) = (self.drive_of(ctx.rigid_body1), dynamic(ctx.rigid_body2))
        {
            -v
        } else if let Some(v) = self.belt_of(ctx.collider1) {
            v
        } else if let Some(v) = self.belt_of(ctx.collider2) {
            -v
        } else {
            return;
        };
        let Some(rigid) = ctx.rigid_mut() else {
            return;
        };
        let n = *rigid.normal;
        let t = rel - n * n.dot(rel);
        for c in rigid.solver_contacts.iter_mut() {
            c.tangent_velocity = t;
        }
    }
}
