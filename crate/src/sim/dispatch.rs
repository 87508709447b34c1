//! The narrow phase's query dispatcher: parry's default one restricted to convex
//! primitives (the only colliders the scenes build: cuboids, cylinders, capsules).
//!
//! Every pair the scenes produce goes through exactly the code parry's
//! `DefaultQueryDispatcher` runs for it (its convex-convex branch), so contacts are
//! bit-identical. What changes is what the linker keeps: the default dispatcher's
//! `contact_manifolds` also drives triangle meshes, height fields, voxels and
//! composite shapes, and that code is never reached here. Any other shape is reported as unsupported (no contact) instead.

use rapier3d::geometry::{ContactData, ContactManifoldData};
use rapier3d::parry::math::{Pose, Real, Vector};
use rapier3d::parry::query::details::{NormalConstraints, ShapeCastOptions};
use rapier3d::parry::query::{
    ClosestPoints, Contact, ContactManifold, ContactManifoldsWorkspace, DefaultQueryDispatcher,
    NonlinearRigidMotion, PersistentQueryDispatcher, QueryDispatcher, ShapeCastHit, ShapeDistance,
    ShapeIntersection, Unsupported,
};
use rapier3d::parry::shape::{Shape, ShapeType};

/// Parry's default dispatcher, restricted to convex primitives for contact manifolds.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConvexDispatcher;

fn is_convex_primitive(s: &dyn Shape) -> bool {
    matches!(
        s.shape_type(),
        ShapeType::Ball
            | ShapeType::Cuboid
            | ShapeType::Capsule
            | ShapeType::Cylinder
            | ShapeType::Cone
            | ShapeType::ConvexPolyhedron
            | ShapeType::RoundCuboid
            | ShapeType::RoundCylinder
            | ShapeType::RoundCone
            | ShapeType::RoundConvexPolyhedron
    )
}

impl QueryDispatcher for ConvexDispatcher {
    fn intersection_test(
        &self,
        pos12: &Pose,
        g1: &dyn Shape,
        g2: &dyn Shape,
    ) -> Result<ShapeIntersection, Unsupported> {
        // The default dispatcher's branches for convex primitives, in its order: its
        // own function also reaches composite shapes and voxels, and keeps them linked.
        use rapier3d::parry::query::details as d;
        if let (Some(b1), Some(b2)) = (g1.as_ball(), g2.as_ball()) {
            Ok(d::intersection_test_ball_ball(pos12.translation, b1, b2).into())
        } else if let (Some(c1), Some(c2)) = (g1.as_cuboid(), g2.as_cuboid()) {
            Ok(d::intersection_test_cuboid_cuboid(pos12, c1, c2).into())
        } else if !is_convex_primitive(g1) || !is_convex_primitive(g2) {
            Err(Unsupported)
        } else if let Some(b1) = g1.as_ball() {
            Ok(d::intersection_test_ball_point_query(pos12, b1, g2))
        } else if let Some(b2) = g2.as_ball() {
            Ok(d::intersection_test_point_query_ball(pos12, g1, b2))
        } else if let (Some(s1), Some(s2)) = (g1.as_support_map(), g2.as_support_map()) {
            Ok(d::intersection_test_support_map_support_map(pos12, s1, s2).into())
        } else {
            Err(Unsupported)
        }
    }
    // The scenes enable no continuous collision detection and run no scene queries, so
    // rapier never asks for these; answering "unsupported" keeps parry's general shape
    // queries (and everything they reach) out of the browser module.
    fn distance(
        &self,
        _: &Pose,
        _: &dyn Shape,
        _: &dyn Shape,
    ) -> Result<ShapeDistance, Unsupported> {
        Err(Unsupported)
    }
    fn contact(
        &self,
        _: &Pose,
        _: &dyn Shape,
        _: &dyn Shape,
        _: Real,
    ) -> Result<Option<Contact>, Unsupported> {
        Err(Unsupported)
    }
    fn closest_points(
        &self,
        _: &Pose,
        _: &dyn Shape,
        _: &dyn Shape,
        _: Real,
    ) -> Result<ClosestPoints, Unsupported> {
        Err(Unsupported)
    }
    fn cast_shapes(
        &self,
        _: &Pose,
        _: Vector,
        _: &dyn Shape,
        _: &dyn Shape,
        _: ShapeCastOptions,
    ) -> Result<Option<ShapeCastHit>, Unsupported> {
        Err(Unsupported)
    }
    fn cast_shapes_nonlinear(
        &self,
        _: &NonlinearRigidMotion,
        _: &dyn Shape,
        _: &NonlinearRigidMotion,
        _: &dyn Shape,
        _: Real,
        _: Real,
        _: bool,
    ) -> Result<Option<ShapeCastHit>, Unsupported> {
        Err(Unsupported)
    }
}

impl PersistentQueryDispatcher<ContactManifoldData, ContactData> for ConvexDispatcher {
    fn contact_manifolds(
        &self,
        pos12: &Pose,
        g1: &dyn Shape,
        g2: &dyn Shape,
        prediction: Real,
        manifolds: &mut Vec<ContactManifold<ContactManifoldData, ContactData>>,
        _workspace: &mut Option<ContactManifoldsWorkspace>,
    ) -> Result<(), Unsupported> {
        if !is_convex_primitive(g1) || !is_convex_primitive(g2) {
            return Err(Unsupported);
        }
        // The default dispatcher's branch for two non-composite convex shapes.
        if manifolds.is_empty() {
            manifolds.push(ContactManifold::new());
        }
        self.contact_manifold_convex_convex(
            pos12,
            g1,
            g2,
            None,
            None,
            prediction,
            &mut manifolds[0],
        )
    }

    fn contact_manifold_convex_convex(
        &self,
        pos12: &Pose,
        g1: &dyn Shape,
        g2: &dyn Shape,
        normal_constraints1: Option<&dyn NormalConstraints>,
        normal_constraints2: Option<&dyn NormalConstraints>,
        prediction: Real,
        manifold: &mut ContactManifold<ContactManifoldData, ContactData>,
    ) -> Result<(), Unsupported> {
        <DefaultQueryDispatcher as PersistentQueryDispatcher<ContactManifoldData, ContactData>>::contact_manifold_convex_convex(
            &DefaultQueryDispatcher,
            pos12,
            g1,
            g2,
            normal_constraints1,
            normal_constraints2,
            prediction,
            manifold,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapier3d::parry::shape::{Compound, Cuboid, Cylinder, SharedShape};

    /// Per manifold: its normal and its points (local point on each shape, distance).
    type Manifolds = Vec<(Vector, Vec<(Vector, Vector, Real)>)>;

    fn manifolds(
        d: &dyn PersistentQueryDispatcher<ContactManifoldData, ContactData>,
        pos12: &Pose,
        g1: &dyn Shape,
        g2: &dyn Shape,
    ) -> Result<Manifolds, Unsupported> {
        let mut m = Vec::new();
        let mut ws = None;
        d.contact_manifolds(pos12, g1, g2, 0.01, &mut m, &mut ws)?;
        Ok(m.iter()
            .map(|m| {
                let pts = m
                    .points
                    .iter()
                    .map(|p| (p.local_p1, p.local_p2, p.dist))
                    .collect();
                (m.local_n1, pts)
            })
            .collect())
    }

    #[test]
    fn convex_contacts_equal_the_default_dispatchers() {
        let cube = Cuboid::new(Vector::new(0.025, 0.025, 0.025));
        let slab = Cuboid::new(Vector::new(0.3, 0.3, 0.01));
        let can = Cylinder::new(0.04, 0.03);
        let cases: [(&dyn Shape, &dyn Shape, Pose); 3] = [
            (&cube, &slab, Pose::translation(0.01, -0.02, -0.034)),
            (&can, &slab, Pose::translation(0.0, 0.05, -0.049)),
            (&cube, &can, Pose::translation(0.05, 0.0, 0.0)),
        ];
        for (g1, g2, pos12) in cases {
            let ours = manifolds(&ConvexDispatcher, &pos12, g1, g2).unwrap();
            let theirs = manifolds(&DefaultQueryDispatcher, &pos12, g1, g2).unwrap();
            assert!(!ours[0].1.is_empty(), "the shapes touch");
            assert_eq!(ours, theirs);
        }
        // Shapes the scenes never build are refused rather than mishandled.
        let compound = Compound::new(vec![(Pose::IDENTITY, SharedShape::cuboid(0.1, 0.1, 0.1))]);
        assert!(manifolds(&ConvexDispatcher, &Pose::IDENTITY, &compound, &cube).is_err());
        assert!(ConvexDispatcher
            .distance(&Pose::IDENTITY, &cube, &slab)
            .is_err());
    }
}
